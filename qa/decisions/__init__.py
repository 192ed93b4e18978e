"""The assistant's decisions about a message, apart from ranking passages.

One job: is this message urgent (``triage``, plus the learned ``urgency``
model), does the document answer it (``scope``, ``not_covered``, plus the
learned ``coverage`` model), and which part of it asks (``message``). Pure
functions over text, numbers and the clinic's tables; it may import
``qa.text``, ``qa.clinic_tables`` and ``qa.errors``, never retrieval, the
encoder or anything web.
"""
