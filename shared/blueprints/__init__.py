"""Azure Functions blueprints: thin trigger functions (parse -> call a service -> respond)."""
