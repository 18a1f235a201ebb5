"""The field's exchange standards, each in its own subpackage (IEC 62325-451 market documents)."""
