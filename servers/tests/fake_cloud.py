"""A stand-in cloud provider at Libcloud's driver boundary.

Libcloud's own dummy driver forgets its nodes with each instance and ignores
the name it is given; a real provider does neither. This subclass keeps one
account's nodes across driver instances, honours names, and can be told to
fail the next create_node calls, so our real libcloud backend runs unchanged.
"""

from libcloud.compute.base import Node
from libcloud.compute.drivers.dummy import DummyNodeDriver
from libcloud.compute.providers import DRIVERS, set_driver
from libcloud.compute.types import NodeState

PROVIDER = "fake-cloud"


class FakeCloudDriver(DummyNodeDriver):
    nodes: list = []
    create_calls = 0
    # Exceptions raised by the next create_node calls, in order; ("after", exc)
    # creates the node and then raises, as when the provider's answer is lost.
    failures: list = []
    # The keyword arguments of each create_node call (auth, client tokens, ...).
    create_kwargs: list = []
    # Per node action ("stop_node", "start_node", "reboot_node", "destroy_node"):
    # exceptions raised by its next calls, in order, and the calls made.
    action_failures: dict = {}
    action_calls: list = []

    def __init__(self, key, secret=None, **options):
        super().__init__(key)
        self.nl = FakeCloudDriver.nodes

    def list_nodes(self):
        listed = list(self.nl)
        for node in self.nl:  # a node being built is running by the next look
            if node.state == NodeState.PENDING:
                node.state = NodeState.RUNNING
        return listed

    def create_node(self, name, size, image, location=None, **kwargs):
        FakeCloudDriver.create_calls += 1
        FakeCloudDriver.create_kwargs.append(kwargs)
        failure = FakeCloudDriver.failures.pop(0) if FakeCloudDriver.failures else None
        if failure is not None and not isinstance(failure, tuple):
            raise failure
        node = Node(
            id=f"fake-{len(self.nl) + 1}",
            name=name,
            state=NodeState.RUNNING,
            public_ips=[f"198.51.100.{len(self.nl) + 10}"],
            private_ips=["10.0.0.5"],
            driver=self,
            size=size,
            image=image,
        )
        self.nl.append(node)
        if failure is not None:
            raise failure[1]
        return node

    def node_action(self, action, node, state):
        FakeCloudDriver.action_calls.append((action, node.id))
        pending = FakeCloudDriver.action_failures.get(action) or []
        if pending:
            raise pending.pop(0)
        node.state = state
        return True

    def stop_node(self, node):
        return self.node_action("stop_node", node, NodeState.STOPPED)

    def start_node(self, node):
        return self.node_action("start_node", node, NodeState.RUNNING)

    def reboot_node(self, node):
        return self.node_action("reboot_node", node, NodeState.RUNNING)

    def destroy_node(self, node):
        self.node_action("destroy_node", node, NodeState.TERMINATED)
        self.nl.remove(node)
        return True

    @classmethod
    def add_node(cls, name, state=NodeState.RUNNING):
        node = Node(id=f"fake-{len(cls.nodes) + 1}", name=name, state=state, public_ips=[], private_ips=[], driver=None)
        cls.nodes.append(node)
        return node

    @classmethod
    def reset(cls):
        cls.nodes.clear()
        cls.create_calls = 0
        cls.failures.clear()
        cls.create_kwargs.clear()
        cls.action_failures.clear()
        cls.action_calls.clear()


def fake_cloud_register():
    if PROVIDER not in DRIVERS:
        set_driver(PROVIDER, "servers.tests.fake_cloud", "FakeCloudDriver")
    FakeCloudDriver.reset()
    return FakeCloudDriver


RESIZABLE_PROVIDER = "fake-cloud-resizable"


class ResizableFakeCloudDriver(FakeCloudDriver):
    """The same account at a provider whose Libcloud driver can resize (as DigitalOcean's,
    Linode's, OpenStack's and Vultr's can, by `ex_resize_node`)."""

    def ex_resize_node(self, node, size):
        FakeCloudDriver.action_calls.append(("ex_resize_node", node.id, size.id))
        pending = FakeCloudDriver.action_failures.get("ex_resize_node") or []
        if pending:
            raise pending.pop(0)
        node.size = size
        return True


def resizable_fake_cloud_register():
    if RESIZABLE_PROVIDER not in DRIVERS:
        set_driver(RESIZABLE_PROVIDER, "servers.tests.fake_cloud", "ResizableFakeCloudDriver")
    FakeCloudDriver.reset()
    return ResizableFakeCloudDriver
