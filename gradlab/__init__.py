"""The ``gradlab`` command line: ``gradlab train``, ``gradlab graph``, ``gradlab gradcheck``."""
