"""Running a study: the session steps that every loop shares (create or resume, claim, heartbeat, record, finish,
evaluate the best), the study loop, worker processes, ask/tell, progress and the checkpoint layout.

(Named ``running`` because ``hpsearch.run`` is the Python API's function.)
"""
