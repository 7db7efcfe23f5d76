"""Business layer, in three sub-packages that depend downwards only:
`campaigns` → `audience` → `core` (→ `drivers`)."""
