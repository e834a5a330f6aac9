"""Cases: intake, the step engine, reads and views, queues, notices, the sweep, documents."""
