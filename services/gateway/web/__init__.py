"""The signed-in web UI and its REST twin: auth dependencies, layout, one router per section."""
