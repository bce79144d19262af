"""Terminal management (TMS): onboarding and activation, as a web service (API and pages) on the
host's database. Contract: docs/tms-api-v1.md."""
