SELECT now() - make_interval(secs => $1::float8)
