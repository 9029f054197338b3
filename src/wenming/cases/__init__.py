"""Cases: the 数字城管 loop from report to close, with routing, deadlines and escalation."""
