"""Source ingesters: build requests from a contract, fetch them, land what comes back."""
