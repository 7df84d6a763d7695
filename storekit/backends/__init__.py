"""The embedded backends of the core: :mod:`storekit.backends.file` and :mod:`storekit.backends.sql`.

Both implement :class:`~storekit.interfaces.TrackingStore` and
:class:`~storekit.interfaces.RegistryStore`; they are resolved through the
``storekit.tracking_store`` / ``storekit.registry_store`` entry points like any plugin.
"""
