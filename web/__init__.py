"""Web front ends of the bulletin assistant: JSON API, Gradio chat, embeddable widget.

``app.create_app(settings, assistant)`` wires them into one FastAPI app; nothing
here reads configuration at import time.
"""
