"""Ops' staff actions, registered with security.staff_actions; imported once by OpsConfig.ready()."""

from security import staff_actions

from .staff_actions import DEFINITIONS

staff_actions.register(*DEFINITIONS)
