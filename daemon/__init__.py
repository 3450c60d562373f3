"""helpdeskd: answers customer-support email.

The core: configuration, the store, the pipeline stages and their policy tables, the scheduler
and the CLI. It reaches the outside world only through the Protocols in `connectors.base`.
"""

__version__ = "0.1.0"
