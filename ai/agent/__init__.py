"""The Agent pipeline: triage, retrieve, act, draft, score, decide, audit.

`ai.agent.pipeline.agent_run_for_message` is the entry point of a run; each step lives in
its own module so it can be tested alone.
"""
