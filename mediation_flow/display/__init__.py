"""How values are shown to people: formats (money, dates, durations, rates, numerals), the labels glossary
and the translation of validation errors into Chinese messages that name the field."""
