"""The assistant's decisions about a message, apart from ranking passages.

One job: is this message urgent (``triage``, and the learned urgency model),
does the document answer it (``scope``, ``not_covered``, and the learned
coverage model), which part of it asks (``message``), and does it lean on the
question before (``followup``). ``learned`` is the linear model (fitted at
build time, a dot product at serving), ``signals`` the rules' readings handed
to it as named cues, ``policy`` how the rules and the models combine, and
``function_words`` the words that carry no topic. Pure functions over text,
numbers and the clinic's tables.

May import: of ``qa``, only ``qa.decisions``, ``qa.text``, ``qa.clinic_tables``
and ``qa.errors`` (tests/test_architecture.py); never retrieval, the encoder,
the index or anything web.
"""
