"""The ``rocket`` command (``main``), its logging set-up (``logsetup``) and the development
reloader (``reload``, which is handed ``main`` and never imports it)."""
