"""Readers that turn a question-bank file into canonical rows (see ``question_schema``)."""
