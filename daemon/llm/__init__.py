"""The model stack: an LLM behind the route, draft and escalate stages.

`stack` builds one client per configured task and is the only way a stage reaches a model
(cost caps, PII masking and usage rows happen there); `router` and `drafter` implement the
stages' Protocols and fall back to the rule router and the offline drafter; `toolloop` runs the
bounded tool-calling loop over `daemon.tools`; `budget` keeps every prompt within its token
budget; `cost` prices requests and enforces caps; `pii` masks personal data; `prompts` renders
templates/prompts/; `summary` writes thread and escalation summaries; `injection` flags mail
that tries to instruct the model (`hidden`: text of HTML a reader never sees); `entities` finds
the links, addresses, phone numbers, ids and card digits of a text for the output guard
(`daemon.stages.guard`). Importing this package imports nothing heavy.
"""
