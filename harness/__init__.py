"""The suite's runtime: the `caas` command and its run (cli/), the settings and the targets file
(settings, targets*, names), and what every layer shares: errors with their one-line form (errors),
waiting with a deadline (wait) and keeping secrets out of output (redaction)."""
