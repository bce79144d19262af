"""Request and response models of the TMS API, one module per resource."""
