"""Output of the person's rights (docs/RIGHTS.md): the 本人開示 document."""
