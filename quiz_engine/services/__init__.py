"""The domain core. Flask-free: functions take a SQLAlchemy ``Session``, a Redis client and
``now`` as arguments, flush but never commit (the caller commits once), and raise
:class:`quiz_engine.services.errors.QuizError` with a message safe to show people."""
