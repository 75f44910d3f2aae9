"""One pure module per protocol (robots.txt, ai.txt, TDMRep, page signals, Content-Signal,
aipref) and the AI agent registry. No I/O; parsers never raise on content.

Imports: ``model`` and below.
"""
