"""Paper-ledger import: read the file, plan each row, apply it on the bulk path, write in batches."""
