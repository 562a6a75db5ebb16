"""Stage 3, document: view model, wording, charts, HTML through Jinja2 and PDF through WeasyPrint, PDF checks."""
