"""Reading mail: MIME structure, bodies, replies, signatures, languages, machine-written mail
and authentication results. Pure functions over bytes and `email` messages; no I/O, no policy."""
