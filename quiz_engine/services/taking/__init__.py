"""Taking a round, the hot path: admission, drawing papers, starting, saving answers, submitting and grading."""
