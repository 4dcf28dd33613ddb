//! PostgreSQL's key words that cannot be written as plain (unquoted)
//! identifiers everywhere.
//!
//! pgq writes object names unquoted, as PGQueuer does, so both tools name
//! the same objects. A name that is one of these words breaks the DDL or, worse,
//! means something else (`--schema user` is a syntax error; a status type
//! named `int` is read as the built-in integer type). The lists are compiled
//! in, so names are checked before connecting.
//!
//! Source: `SELECT word, catcode FROM pg_get_keywords()` on PostgreSQL 15,
//! plus the words PostgreSQL 16 and 17 added to these categories
//! (`system_user`; the SQL/JSON constructors and `merge_action`); checked
//! against the keyword lists of the PostgreSQL 17.7 and 18.6 parsers, which
//! add nothing more here. A word a newer server reserves is rejected for every
//! server: a name must work wherever the installation may move.

/// How far a key word is reserved (`catcode` of `pg_get_keywords()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// `R`: never a plain identifier (`select`, `user`, `table`).
    Reserved,
    /// `T`: a function name, but not a table, schema, trigger or type name
    /// (`left`, `join`, `authorization`).
    TypeFuncName,
    /// `C`: a table, schema or trigger name, but not a function or type name
    /// (`int`, `values`, `time`).
    ColName,
}

const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_catalog",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "initially",
    "intersect",
    "into",
    "lateral",
    "leading",
    "limit",
    "localtime",
    "localtimestamp",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "placing",
    "primary",
    "references",
    "returning",
    "select",
    "session_user",
    "some",
    "symmetric",
    "system_user",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "when",
    "where",
    "window",
    "with",
];

const TYPE_FUNC_NAME: &[&str] = &[
    "authorization",
    "binary",
    "collation",
    "concurrently",
    "cross",
    "current_schema",
    "freeze",
    "full",
    "ilike",
    "inner",
    "is",
    "isnull",
    "join",
    "left",
    "like",
    "natural",
    "notnull",
    "outer",
    "overlaps",
    "right",
    "similar",
    "tablesample",
    "verbose",
];

const COL_NAME: &[&str] = &[
    "between",
    "bigint",
    "bit",
    "boolean",
    "char",
    "character",
    "coalesce",
    "dec",
    "decimal",
    "exists",
    "extract",
    "float",
    "greatest",
    "grouping",
    "inout",
    "int",
    "integer",
    "interval",
    "json",
    "json_array",
    "json_arrayagg",
    "json_exists",
    "json_object",
    "json_objectagg",
    "json_query",
    "json_scalar",
    "json_serialize",
    "json_table",
    "json_value",
    "least",
    "merge_action",
    "national",
    "nchar",
    "none",
    "normalize",
    "nullif",
    "numeric",
    "out",
    "overlay",
    "position",
    "precision",
    "real",
    "row",
    "setof",
    "smallint",
    "substring",
    "time",
    "timestamp",
    "treat",
    "trim",
    "values",
    "varchar",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// The category of `word` (lower case), or `None` when it is an ordinary
/// identifier or an unreserved key word.
pub fn category(word: &str) -> Option<Category> {
    [
        (RESERVED, Category::Reserved),
        (TYPE_FUNC_NAME, Category::TypeFuncName),
        (COL_NAME, Category::ColName),
    ]
    .into_iter()
    .find(|(list, _)| list.binary_search(&word).is_ok())
    .map(|(_, category)| category)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_for_binary_search() {
        for list in [RESERVED, TYPE_FUNC_NAME, COL_NAME] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
    }

    #[test]
    fn categories() {
        assert_eq!(category("user"), Some(Category::Reserved));
        assert_eq!(category("select"), Some(Category::Reserved));
        assert_eq!(category("left"), Some(Category::TypeFuncName));
        assert_eq!(category("int"), Some(Category::ColName));
        assert_eq!(category("jobs"), None);
        assert_eq!(category("pgqueuer"), None);
        // Unreserved key words are plain identifiers.
        assert_eq!(category("action"), None);
    }
}
