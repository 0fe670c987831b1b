"""Every way into a portal, one package each; doors.registry lists them and says which are open."""
