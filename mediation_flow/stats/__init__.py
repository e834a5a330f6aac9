"""Statistics and the annual report: figures from the event history (SQL aggregation, as of a moment),
the generated report text, exports (.docx, .xlsx) and the ledger (台账) import."""
