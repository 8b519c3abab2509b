"""Mail merge: templates, jobs, consent, and the write-back of what was done."""
