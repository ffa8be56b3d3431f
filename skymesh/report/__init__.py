"""Report: tables for terminals and machines (CSV, Parquet, JSON), maps and plots."""
