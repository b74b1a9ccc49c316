"""Integrations with MLOps tools, over their REST APIs (no client packages)."""
