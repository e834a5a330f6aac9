"""People: users, the access policy, login throttle, audit and personal-data masking."""
