"""Protocol emulators for services that cannot run on the test machines (named as such)."""
