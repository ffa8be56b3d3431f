// SkyMesh's forwarding state for one ns-3 node, as an Ipv4RoutingProtocol.
//
// Per destination (a column, one per routed destination node) it holds the output interface
// and the next hop's address, like Hypatia's single-forward arbiter. The engine rewrites
// these entries at every step from SkyMesh's routing (engine.cc, Engine::ApplyStep). A packet
// for a destination with no entry is dropped (ns-3 counts it as DROP_NO_ROUTE), at its source
// too (RouteOutput hands it to the loopback, whose RouteInput finds no entry).
//
// Header-only; compiled at run time by cppyy (skymesh/packets/ns3.py) with engine.h/.cc.

#ifndef SKYMESH_PK_FWD_ROUTING_H
#define SKYMESH_PK_FWD_ROUTING_H

#include "ns3/internet-module.h"
#include "ns3/network-module.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace skymesh_pk
{
using namespace ns3;

class FwdRouting : public Ipv4RoutingProtocol
{
  public:
    static TypeId GetTypeId()
    {
        static TypeId tid = TypeId("skymesh_pk::FwdRouting")
                                .SetParent<Ipv4RoutingProtocol>()
                                .SetGroupName("Internet");
        return tid;
    }

    Ptr<Ipv4> m_ipv4;
    Ipv4Address m_self;
    // per column: the output interface (-1: no route) and the next hop's address
    std::vector<int32_t> m_if;
    std::vector<Ipv4Address> m_gw;
    // identity address -> column (the engine's map, shared by every node)
    const std::unordered_map<uint32_t, int32_t>* m_col = nullptr;

    int32_t Col(Ipv4Address a) const
    {
        auto it = m_col->find(a.Get());
        return it == m_col->end() ? -1 : it->second;
    }

    Ptr<Ipv4Route> Make(Ipv4Address dst)
    {
        int32_t c = Col(dst);
        if (c < 0 || m_if[c] < 0)
        {
            return nullptr;
        }
        Ptr<Ipv4Route> r = Create<Ipv4Route>();
        r->SetDestination(dst);
        r->SetSource(m_self);
        r->SetGateway(m_gw[c]);
        r->SetOutputDevice(m_ipv4->GetNetDevice(m_if[c]));
        return r;
    }

    Ptr<Ipv4Route> RouteOutput(Ptr<Packet>,
                               const Ipv4Header& h,
                               Ptr<NetDevice>,
                               Socket::SocketErrno& err) override
    {
        Ptr<Ipv4Route> r = Make(h.GetDestination());
        if (!r && Col(h.GetDestination()) >= 0)
        {
            // A destination of the network with no route from here now (no satellite in
            // view, service off): the packet leaves the application and is dropped by this
            // node's IP layer (DROP_NO_ROUTE), as it would be anywhere else on the path. A
            // socket error instead would stop ns-3's Ping from recording the echo, and its
            // later replies would find no record (ns-3 3.44 indexes them by sequence number).
            r = Create<Ipv4Route>();
            r->SetDestination(h.GetDestination());
            r->SetSource(m_self);
            r->SetGateway(Ipv4Address::GetZero());
            r->SetOutputDevice(m_ipv4->GetNetDevice(0));  // the loopback: back to RouteInput
        }
        err = r ? Socket::ERROR_NOTERROR : Socket::ERROR_NOROUTETOHOST;
        return r;
    }

    bool RouteInput(Ptr<const Packet> p,
                    const Ipv4Header& h,
                    Ptr<const NetDevice> idev,
                    const UnicastForwardCallback& ucb,
                    const MulticastForwardCallback&,
                    const LocalDeliverCallback& lcb,
                    const ErrorCallback&) override
    {
        uint32_t iif = m_ipv4->GetInterfaceForDevice(idev);
        if (m_ipv4->IsDestinationAddress(h.GetDestination(), iif))
        {
            if (!lcb.IsNull())
            {
                lcb(p, h, iif);
            }
            return true;
        }
        Ptr<Ipv4Route> r = Make(h.GetDestination());
        if (!r)
        {
            return false;
        }
        ucb(r, p, h);
        return true;
    }

    void NotifyInterfaceUp(uint32_t) override {}
    void NotifyInterfaceDown(uint32_t) override {}
    void NotifyAddAddress(uint32_t, Ipv4InterfaceAddress) override {}
    void NotifyRemoveAddress(uint32_t, Ipv4InterfaceAddress) override {}
    void SetIpv4(Ptr<Ipv4> ipv4) override { m_ipv4 = ipv4; }
    void PrintRoutingTable(Ptr<OutputStreamWrapper>, Time::Unit) const override {}
};

} // namespace skymesh_pk

#endif // SKYMESH_PK_FWD_ROUTING_H
