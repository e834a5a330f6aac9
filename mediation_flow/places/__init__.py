"""Jurisdictions (county → grid), their subtrees, and reference data (venues, agencies, categories)."""
