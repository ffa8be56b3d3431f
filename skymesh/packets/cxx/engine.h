// The packet engine's ns-3 side: one network, its per-step schedule, its flows and traces.
//
// What must be C++ (ns-3 cannot call back into Python per event: Simulator::Schedule with a
// Python function fails template resolution in the wheel's bindings, and a Python callback per
// packet would be far too slow anyway): the Engine builds the nodes, point-to-point links
// (DropTail queues, no queue discs), addresses (each node one /32 identity address on its
// loopback; each link a /30) and routing (FwdRouting, fwd_routing.h); schedules every step's
// link delays, data rates and forwarding changes from flat arrays; creates the flows (TCP bulk
// senders with a per-socket congestion control, UDP constant-rate clients, ns-3 Ping); records
// the traces into C++ vectors (cwnd, RTT, received bytes per time bin, losses, retransmissions,
// reordering) that Python (skymesh/packets/engine.py) copies out into numpy arrays once at the
// end. Times are in seconds, rates in bit/s, sizes in bytes unless a name says otherwise.
//
// Compiled at run time by cppyy (skymesh/packets/ns3.py) against the ns3 pip wheel's headers;
// definitions are in engine.cc.

#ifndef SKYMESH_PK_ENGINE_H
#define SKYMESH_PK_ENGINE_H

#include "fwd_routing.h"

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-apps-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/traffic-control-module.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace skymesh_pk
{
using namespace ns3;

// One flow's state and counters.
struct FlowRec
{
    int kind = 0; // 0 tcp, 1 udp, 2 ping
    int src = 0;
    int dst = 0;
    uint16_t port = 0;
    double start = 0;
    double stop = 0;
    bool stopped = false;
    uint32_t chunk = 1448;
    Ptr<Socket> sock;
    uint64_t txPk = 0, rxPk = 0, lost = 0, txB = 0, rxB = 0, retx = 0, reorder = 0;
    bool anyTx = false;
    uint32_t highTx = 0;
    std::unordered_set<uint32_t> retxSeq;
    bool anyRx = false;
    uint32_t maxRxEnd = 0;
    int64_t maxSeq = -1;
    std::vector<double> bins;
    int64_t lastCwndNs = -1;
    uint32_t lastCwnd = 0;

    // Add received bytes to the time bin (binS s wide) of the current simulated time.
    void Bin(uint32_t bytes, double binS);
};

class Engine
{
  public:
    int M = 0, L = 0, D = 0, K = 0; // nodes, links, destinations, steps
    NodeContainer nodes;
    std::vector<Ptr<PointToPointChannel>> ch;
    std::vector<Ptr<PointToPointNetDevice>> da, db;
    std::vector<Ptr<FwdRouting>> rt;
    std::vector<Ipv4Address> ident;
    std::unordered_map<uint32_t, int32_t> col;
    std::unordered_map<uint64_t, std::pair<int32_t, uint32_t>> ifOf;
    std::vector<double> stepT, delay, rate;
    std::vector<int32_t> chNode, chCol, chNext;
    std::vector<int64_t> chPtr;
    std::vector<double> curDelay, curRate;
    std::vector<FlowRec> flows;
    std::unordered_map<uint64_t, int32_t> pingOf;
    double binS = 0.1;
    int64_t cwndGapNs = 1000000;
    uint16_t basePort = 10000;
    std::vector<int32_t> evFlow;
    std::vector<double> evT;
    std::vector<int32_t> evKind; // 0 loss, 1 retransmit, 2 reorder
    std::vector<int32_t> rttFlow;
    std::vector<double> rttT, rttV;
    std::vector<int32_t> cwFlow;
    std::vector<double> cwT;
    std::vector<int64_t> cwV;
    uint64_t hopTx = 0, originated = 0, drops = 0, queueDrops = 0, routeDrops = 0;
    std::unordered_set<uint32_t> deliverHooked;
    int64_t badTraces = 0;

    // Count a trace connection ns-3 refused (badTraces).
    void Need(bool connected);

    // m nodes, l links (ends a[k], b[k]; rates rate0 bit/s, delays delay0 s), d destinations
    // (their nodes destNode[j]); DropTail queues of queuePkts packets; TCP segments and buffers.
    void Build(int m, int l, int d, const int64_t* a, const int64_t* b, const int64_t* destNode,
               const double* rate0, const double* delay0, int queuePkts, int segSize,
               int64_t bufBytes, int64_t seed, double binSeconds, double cwndGapS);

    // K steps: times (s), delays and rates (K x L, row-major), forwarding changes sorted by step
    // (ptr has K + 1 entries: changes of step k are ptr[k] .. ptr[k+1]-1).
    void Schedule(int k, const double* t, const double* dly, const double* rte, int64_t nChanges,
                  const int32_t* node, const int32_t* column, const int32_t* next,
                  const int64_t* ptr);
    static void ApplyStepCb(uint32_t s);
    void ApplyStep(uint32_t s);

    // Flows: each returns its flow id (its index in flows). cc: 0 NewReno, 1 Cubic, 2 BBR.
    int AddFlow(int kind, int src, int dst, double start, double stop);
    void HookDeliver(int node);
    int AddTcp(int src, int dst, int cc, double start, double stop, int segSize);
    int AddUdp(int src, int dst, double rateBps, int size, double start, double stop);
    int AddPing(int src, int dst, double interval, int size, double start, double stop);

    // Callbacks (static: ns-3 binds them with the flow id; they reach the engine by g_engine).
    static void TcpStartCb(int fid);
    static void TcpFillCb(int fid, Ptr<Socket> s, uint32_t);
    static void TcpStopCb(int fid);
    static void TcpTxCb(int fid, Ptr<const Packet> p, const TcpHeader& h, Ptr<const TcpSocketBase>);
    static void SinkRxCb(int fid, Ptr<const Packet> p, const Address&);
    static void CwndCb(int fid, uint32_t oldV, uint32_t newV);
    static void RttCb(int fid, Time, Time v);
    static void UdpTxCb(int fid, Ptr<const Packet> p);
    static void UdpRxCb(int fid, Ptr<const Packet> p);
    static void PingTxCb(int fid, uint16_t, Ptr<Packet> p);
    static void PingRttCb(int fid, uint16_t seq, Time rtt);
    static void LocalDeliverCb(const Ipv4Header& ip, Ptr<const Packet> p, uint32_t);
    int FlowOf(const Ipv4Header& ip, Ptr<const Packet> l4);
    // The flow a TCP or UDP header's first 4 bytes name by port (destination first), or -1.
    int FlowOfPorts(const uint8_t* buf) const;
    void Loss(int fid);
    static void QueueDropCb(Ptr<const Packet> p);
    static void TcDropCb(Ptr<const Packet> p);
    static void IpDropCb(const Ipv4Header& ip, Ptr<const Packet> p, Ipv4L3Protocol::DropReason,
                         Ptr<Ipv4>, uint32_t);
    static void IpTxCb(Ptr<const Packet>, Ptr<Ipv4>, uint32_t);
    static void IpSendCb(const Ipv4Header&, Ptr<const Packet>, uint32_t);
    void Event(int fid, int kind);

    // Running and reading out (into caller-sized arrays).
    void RunUntil(double t);
    double Now() const;
    uint64_t EventCount() const;
    int64_t NBins() const;
    // per flow: tx_packets, rx_packets, lost, tx_bytes, rx_bytes, retransmits, reorders
    void FlowCounters(int64_t* out) const;
    void FlowBins(int fid, double* out) const;
    int64_t FlowNBins(int fid) const;
    int64_t NEvents() const;
    void Events(int32_t* fid, double* t, int32_t* kind) const;
    int64_t NRtt() const;
    void Rtt(int32_t* fid, double* t, double* v) const;
    int64_t NCwnd() const;
    void Cwnd(int32_t* fid, double* t, int64_t* v) const;
    int64_t DeviceDrops() const;
    // hop transmissions, originated packets, drops (all), queue drops, no-route drops
    void Totals(int64_t* out) const;
};

// TCP defaults: ns-3's own, or with hypatia = true Hypatia's (engine.cc).
void TcpProfile(bool hypatia, double worstRttS);

// The process's one engine (ns-3's simulator is a singleton): a new one, and its end.
Engine* NewEngine();
void DestroyEngine();

} // namespace skymesh_pk

#endif // SKYMESH_PK_ENGINE_H
