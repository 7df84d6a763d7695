"""Mutation testing: the in-process conformance selection and the marked CI job (scripts/mutation.sh)."""
