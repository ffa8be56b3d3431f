"""Links: who sees whom (ground-satellite visibility, inter-satellite links) and link budgets."""
