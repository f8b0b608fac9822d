"""The trigger functions, thin: parse the trigger, call a service, turn the result into a response.

Each module holds one `azure.functions.Blueprint` named `bp`; `function_app.py` registers them.
Nothing here imports an Azure SDK at module load (cold start budget: 300 ms for the whole app).
"""
