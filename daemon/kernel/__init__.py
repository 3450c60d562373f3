"""The kernel: what every stage is written against, importing nothing above it.

`item` holds the frozen `Item` a stage works on, `outcomes` the values that end a message's
flow (`Ignored`, `Sent`, `Held`, `Escalated`), and `stage` the `Context` a stage runs in, the
`Roles` it may call (router, retriever, drafter, model stack, templates), their Protocols and
the stage signature. It imports only the settings, the records, the tables, SQLModel and
Jinja2; implementations of the roles live above it (`daemon.offline`, `daemon.knowledge`,
`daemon.llm`) and are chosen by the composition root, `daemon.app`.
"""
