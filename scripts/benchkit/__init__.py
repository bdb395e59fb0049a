"""scripts/bench as a package: each module is one part of the measurement.

env          the stack's environment (from scripts/lib.sh), paths, what Lambda gives a function
proc         the processes the bench starts, ports, commands, logging
runtime_api  the Lambda Runtime API emulator and a function process running against it
events       API Gateway HTTP API 2.0 events built from events/, and the responses
browser      a cookie jar and HTML forms read as a browser reads them
stack        moto, the tables and the data the requests need
flow         sign-in, consent and token obtained through the functions
measure      /proc readings of a function process, and the statistics of the report
scenarios    what each labelled measurement sends, and the runs that measure it
node         node-oidc-provider started the same way, for the comparison
builds       release builds, arm64 sizes and criterion's results
report       the Markdown tables and docs/performance.md
concurrency  one instance's throughput with AWS_LAMBDA_MAX_CONCURRENCY unset and set (scripts/bench-concurrency)
"""
