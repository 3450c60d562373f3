"""The mail set of issue 17: mail the parser was not written against, with what it must give.

- cases/dev/, cases/heldout/: one `<id>.eml` (the raw mail as the client sends it) and one
  `<id>.json` (`id`, `client`, `language`, `class`, `layout_source`, `expected`) per case; the
  committed files are the truth. Tune on dev only; report heldout separately.
- build.py regenerates them from texts.py (what people write, invented), layouts.py (each
  client's fixed strings per language, read from the public sources named in the cases) and
  mime.py (headers, parts, charsets, transfer encodings).
- score.py scores today's parser on them; test_mailset.py prints the scores in `make test`
  and keeps the floors.
"""
