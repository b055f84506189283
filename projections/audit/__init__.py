"""Auditing the hub from its log of record: consent history, disclosures, tamper evidence."""
