"""The "指尖" phone app's own data and use cases: reporter keys, ratings and patrols."""
