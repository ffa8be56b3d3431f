// Definitions of the packet engine's ns-3 side (declared and described in engine.h).
//
// Compiled at run time by cppyy (skymesh/packets/ns3.py) against the ns3 pip wheel's headers.

#include "engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace skymesh_pk
{
using namespace ns3;

// The engine the static callbacks reach (NewEngine / DestroyEngine).
static Engine* g_engine = nullptr;

// Copy a trace vector into a caller-sized array (Python's numpy buffer).
template <typename T>
static void CopyOut(const std::vector<T>& v, T* out)
{
    std::memcpy(out, v.data(), v.size() * sizeof(T));
}

void FlowRec::Bin(uint32_t bytes, double binS)
{
    int64_t i = (int64_t)(Simulator::Now().GetSeconds() / binS);
    if (i >= 0 && i < (int64_t)bins.size())
    {
        bins[i] += bytes;
    }
}

void Engine::Need(bool connected)
{
    if (!connected)
    {
        badTraces++;
    }
}

void Engine::Build(int m, int l, int d, const int64_t* a, const int64_t* b,
                   const int64_t* destNode, const double* rate0, const double* delay0,
                   int queuePkts, int segSize, int64_t bufBytes, int64_t seed, double binSeconds,
                   double cwndGapS)
{
    M = m;
    L = l;
    D = d;
    binS = binSeconds;
    cwndGapNs = (int64_t)std::llround(cwndGapS * 1e9);
    RngSeedManager::SetSeed(12345);
    RngSeedManager::SetRun((uint64_t)seed + 1);
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(segSize));
    Config::SetDefault("ns3::TcpSocket::SndBufSize", UintegerValue((uint32_t)bufBytes));
    Config::SetDefault("ns3::TcpSocket::RcvBufSize", UintegerValue((uint32_t)bufBytes));
    nodes.Create(M);
    InternetStackHelper stack;
    stack.Install(nodes);
    ident.resize(M);
    rt.resize(M);
    for (int i = 0; i < M; ++i)
    {
        Ptr<Ipv4> ipv4 = nodes.Get(i)->GetObject<Ipv4>();
        ident[i] = Ipv4Address(0x0B000000u + (uint32_t)i + 1u);
        ipv4->AddAddress(0, Ipv4InterfaceAddress(ident[i], Ipv4Mask("255.255.255.255")));
        Ptr<FwdRouting> r = CreateObject<FwdRouting>();
        r->m_self = ident[i];
        r->m_col = &col;
        r->m_if.assign(D, -1);
        r->m_gw.assign(D, Ipv4Address());
        ipv4->SetRoutingProtocol(r);
        rt[i] = r;
    }
    for (int j = 0; j < D; ++j)
    {
        col[ident[destNode[j]].Get()] = j;
    }
    PointToPointHelper p2p;
    p2p.SetQueue("ns3::DropTailQueue<Packet>",
                 "MaxSize",
                 QueueSizeValue(QueueSize(QueueSizeUnit::PACKETS, (uint32_t)queuePkts)));
    ch.resize(L);
    da.resize(L);
    db.resize(L);
    curDelay.assign(delay0, delay0 + L);
    curRate.assign(rate0, rate0 + L);
    for (int k = 0; k < L; ++k)
    {
        DataRate r0((uint64_t)std::llround(rate0[k]));
        p2p.SetDeviceAttribute("DataRate", DataRateValue(r0));
        p2p.SetChannelAttribute("Delay", TimeValue(Seconds(delay0[k])));
        NetDeviceContainer dev = p2p.Install(nodes.Get(a[k]), nodes.Get(b[k]));
        da[k] = DynamicCast<PointToPointNetDevice>(dev.Get(0));
        db[k] = DynamicCast<PointToPointNetDevice>(dev.Get(1));
        ch[k] = DynamicCast<PointToPointChannel>(da[k]->GetChannel());
        uint32_t base = 0x0A000000u + 4u * (uint32_t)k;
        Ipv4Address addrA(base + 1), addrB(base + 2);
        Ptr<Ipv4> ia = nodes.Get(a[k])->GetObject<Ipv4>();
        Ptr<Ipv4> ib = nodes.Get(b[k])->GetObject<Ipv4>();
        int32_t fa = ia->AddInterface(da[k]);
        int32_t fb = ib->AddInterface(db[k]);
        ia->AddAddress(fa, Ipv4InterfaceAddress(addrA, Ipv4Mask("255.255.255.252")));
        ib->AddAddress(fb, Ipv4InterfaceAddress(addrB, Ipv4Mask("255.255.255.252")));
        ia->SetUp(fa);
        ib->SetUp(fb);
        ifOf[(uint64_t)a[k] * (uint64_t)M + (uint64_t)b[k]] = {fa, addrB.Get()};
        ifOf[(uint64_t)b[k] * (uint64_t)M + (uint64_t)a[k]] = {fb, addrA.Get()};
        Need(da[k]->GetQueue()->TraceConnectWithoutContext(
            "Drop", MakeCallback(&Engine::QueueDropCb)));
        Need(db[k]->GetQueue()->TraceConnectWithoutContext(
            "Drop", MakeCallback(&Engine::QueueDropCb)));
    }
    for (int i = 0; i < M; ++i)
    {
        Ptr<Ipv4L3Protocol> l3 = nodes.Get(i)->GetObject<Ipv4L3Protocol>();
        Need(l3->TraceConnectWithoutContext("Drop", MakeCallback(&Engine::IpDropCb)));
        Need(l3->TraceConnectWithoutContext("Tx", MakeCallback(&Engine::IpTxCb)));
        Need(l3->TraceConnectWithoutContext("SendOutgoing", MakeCallback(&Engine::IpSendCb)));
        // With no queue disc the traffic-control layer stops at a full device queue and
        // drops there (the device's own queue then never overflows): hook both.
        Need(nodes.Get(i)->GetObject<TrafficControlLayer>()->TraceConnectWithoutContext(
            "TcDrop", MakeCallback(&Engine::TcDropCb)));
    }
}

void Engine::Schedule(int k, const double* t, const double* dly, const double* rte,
                      int64_t nChanges, const int32_t* node, const int32_t* column,
                      const int32_t* next, const int64_t* ptr)
{
    K = k;
    stepT.assign(t, t + K);
    delay.assign(dly, dly + (size_t)K * L);
    rate.assign(rte, rte + (size_t)K * L);
    chNode.assign(node, node + nChanges);
    chCol.assign(column, column + nChanges);
    chNext.assign(next, next + nChanges);
    chPtr.assign(ptr, ptr + K + 1);
    ApplyStep(0);
    for (int s = 1; s < K; ++s)
    {
        Simulator::Schedule(Seconds(stepT[s]), &Engine::ApplyStepCb, (uint32_t)s);
    }
}

void Engine::ApplyStepCb(uint32_t s)
{
    g_engine->ApplyStep(s);
}

void Engine::ApplyStep(uint32_t s)
{
    const double* dl = &delay[(size_t)s * L];
    const double* rr = &rate[(size_t)s * L];
    for (int k = 0; k < L; ++k)
    {
        if (dl[k] != curDelay[k])
        {
            ch[k]->SetAttribute("Delay", TimeValue(Seconds(dl[k])));
            curDelay[k] = dl[k];
        }
        if (rr[k] != curRate[k])
        {
            DataRate r((uint64_t)std::llround(rr[k]));
            da[k]->SetDataRate(r);
            db[k]->SetDataRate(r);
            curRate[k] = rr[k];
        }
    }
    for (int64_t i = chPtr[s]; i < chPtr[s + 1]; ++i)
    {
        Ptr<FwdRouting> r = rt[chNode[i]];
        int32_t c = chCol[i];
        int32_t v = chNext[i];
        if (v < 0)
        {
            r->m_if[c] = -1;
            continue;
        }
        auto it = ifOf.find((uint64_t)chNode[i] * (uint64_t)M + (uint64_t)v);
        if (it == ifOf.end())
        {
            r->m_if[c] = -1;
            continue;
        }
        r->m_if[c] = it->second.first;
        r->m_gw[c] = Ipv4Address(it->second.second);
    }
}

int Engine::AddFlow(int kind, int src, int dst, double start, double stop)
{
    FlowRec f;
    f.kind = kind;
    f.src = src;
    f.dst = dst;
    f.start = start;
    f.stop = stop;
    f.port = (uint16_t)(basePort + flows.size());
    int n = (int)std::ceil(stop / binS) + 1;
    f.bins.assign(n > 0 ? n : 1, 0.0);
    flows.push_back(f);
    return (int)flows.size() - 1;
}

void Engine::HookDeliver(int node)
{
    if (deliverHooked.count(node))
    {
        return;
    }
    deliverHooked.insert(node);
    Need(nodes.Get(node)->GetObject<Ipv4L3Protocol>()->TraceConnectWithoutContext(
        "LocalDeliver", MakeCallback(&Engine::LocalDeliverCb)));
}

// cc: 0 NewReno, 1 Cubic, 2 BBR
int Engine::AddTcp(int src, int dst, int cc, double start, double stop, int segSize)
{
    int fid = AddFlow(0, src, dst, start, stop);
    FlowRec& f = flows[fid];
    f.chunk = (uint32_t)segSize;
    PacketSinkHelper sinkH("ns3::TcpSocketFactory",
                           InetSocketAddress(Ipv4Address::GetAny(), f.port));
    ApplicationContainer sink = sinkH.Install(nodes.Get(dst));
    sink.Start(Seconds(0.0));
    Need(sink.Get(0)->TraceConnectWithoutContext(
        "Rx", MakeBoundCallback(&Engine::SinkRxCb, fid)));
    Config::SetDefault("ns3::TcpSocketState::EnablePacing", BooleanValue(cc == 2));
    Ptr<Socket> s = Socket::CreateSocket(nodes.Get(src), TcpSocketFactory::GetTypeId());
    Config::SetDefault("ns3::TcpSocketState::EnablePacing", BooleanValue(false));
    Ptr<TcpSocketBase> tcp = DynamicCast<TcpSocketBase>(s);
    if (cc == 1)
    {
        tcp->SetCongestionControlAlgorithm(CreateObject<TcpCubic>());
    }
    else if (cc == 2)
    {
        tcp->SetCongestionControlAlgorithm(CreateObject<TcpBbr>());
    }
    else
    {
        tcp->SetCongestionControlAlgorithm(CreateObject<TcpNewReno>());
    }
    Need(s->TraceConnectWithoutContext(
        "CongestionWindow", MakeBoundCallback(&Engine::CwndCb, fid)));
    Need(s->TraceConnectWithoutContext("LastRTT", MakeBoundCallback(&Engine::RttCb, fid)));
    Need(s->TraceConnectWithoutContext("Tx", MakeBoundCallback(&Engine::TcpTxCb, fid)));
    flows[fid].sock = s;
    HookDeliver(dst);
    Simulator::ScheduleWithContext(
        nodes.Get(src)->GetId(), Seconds(start), &Engine::TcpStartCb, fid);
    Simulator::Schedule(Seconds(stop), &Engine::TcpStopCb, fid);
    return fid;
}

int Engine::AddUdp(int src, int dst, double rateBps, int size, double start, double stop)
{
    int fid = AddFlow(1, src, dst, start, stop);
    FlowRec& f = flows[fid];
    UdpServerHelper server(f.port);
    ApplicationContainer sv = server.Install(nodes.Get(dst));
    sv.Start(Seconds(0.0));
    Need(sv.Get(0)->TraceConnectWithoutContext("Rx", MakeBoundCallback(&Engine::UdpRxCb, fid)));
    UdpClientHelper client(ident[dst], f.port);
    client.SetAttribute("MaxPackets", UintegerValue(4294967295u));
    client.SetAttribute("Interval", TimeValue(Seconds(size * 8.0 / rateBps)));
    client.SetAttribute("PacketSize", UintegerValue(size));
    ApplicationContainer cl = client.Install(nodes.Get(src));
    cl.Start(Seconds(start));
    cl.Stop(Seconds(stop));
    Need(cl.Get(0)->TraceConnectWithoutContext("Tx", MakeBoundCallback(&Engine::UdpTxCb, fid)));
    return fid;
}

int Engine::AddPing(int src, int dst, double interval, int size, double start, double stop)
{
    int fid = AddFlow(2, src, dst, start, stop);
    Ptr<Ping> p = CreateObject<Ping>();
    p->SetAttribute("Destination", AddressValue(ident[dst]));
    p->SetAttribute("Interval", TimeValue(Seconds(interval)));
    p->SetAttribute("Size", UintegerValue(size));
    p->SetAttribute("Count", UintegerValue(0));
    p->SetAttribute("VerboseMode", EnumValue(Ping::VerboseMode::SILENT));
    nodes.Get(src)->AddApplication(p);
    p->SetStartTime(Seconds(start));
    p->SetStopTime(Seconds(stop));
    Need(p->TraceConnectWithoutContext("Rtt", MakeBoundCallback(&Engine::PingRttCb, fid)));
    Need(p->TraceConnectWithoutContext("Tx", MakeBoundCallback(&Engine::PingTxCb, fid)));
    uint32_t x = ident[src].Get(), y = ident[dst].Get();
    uint64_t key = ((uint64_t)std::min(x, y) << 32) | std::max(x, y);
    if (!pingOf.count(key))
    {
        pingOf[key] = fid;
    }
    return fid;
}

// --- callbacks ------------------------------------------------------------------------
void Engine::TcpStartCb(int fid)
{
    FlowRec& f = g_engine->flows[fid];
    f.sock->Bind(InetSocketAddress(g_engine->ident[f.src], 0));
    f.sock->Connect(InetSocketAddress(g_engine->ident[f.dst], f.port));
    f.sock->SetSendCallback(MakeBoundCallback(&Engine::TcpFillCb, fid));
    TcpFillCb(fid, f.sock, 0);
}

void Engine::TcpFillCb(int fid, Ptr<Socket> s, uint32_t)
{
    FlowRec& f = g_engine->flows[fid];
    while (!f.stopped && s->GetTxAvailable() >= f.chunk)
    {
        if (s->Send(Create<Packet>(f.chunk)) < 0)
        {
            break;
        }
    }
}

void Engine::TcpStopCb(int fid)
{
    FlowRec& f = g_engine->flows[fid];
    f.stopped = true;
    f.sock->Close();
}

void Engine::TcpTxCb(int fid, Ptr<const Packet> p, const TcpHeader& h, Ptr<const TcpSocketBase>)
{
    uint32_t size = p->GetSize();
    if (size == 0)
    {
        return;
    }
    FlowRec& f = g_engine->flows[fid];
    uint32_t seq = h.GetSequenceNumber().GetValue();
    f.txPk++;
    f.txB += size;
    if (f.anyTx && (int32_t)(seq - f.highTx) < 0)
    {
        f.retx++;
        f.retxSeq.insert(seq);
        g_engine->Event(fid, 1);
    }
    else
    {
        f.highTx = seq + size;
        f.anyTx = true;
    }
}

void Engine::SinkRxCb(int fid, Ptr<const Packet> p, const Address&)
{
    FlowRec& f = g_engine->flows[fid];
    f.rxB += p->GetSize();
    f.Bin(p->GetSize(), g_engine->binS);
}

void Engine::CwndCb(int fid, uint32_t oldV, uint32_t newV)
{
    FlowRec& f = g_engine->flows[fid];
    int64_t now = Simulator::Now().GetNanoSeconds();
    if (f.lastCwndNs < 0 || newV < oldV || now - f.lastCwndNs >= g_engine->cwndGapNs)
    {
        g_engine->cwFlow.push_back(fid);
        g_engine->cwT.push_back(now * 1e-9);
        g_engine->cwV.push_back(newV);
        f.lastCwndNs = now;
    }
    f.lastCwnd = newV;
}

void Engine::RttCb(int fid, Time, Time v)
{
    if (v.IsZero())
    {
        return;
    }
    g_engine->rttFlow.push_back(fid);
    g_engine->rttT.push_back(Simulator::Now().GetSeconds());
    g_engine->rttV.push_back(v.GetSeconds() * 1e3);
}

void Engine::UdpTxCb(int fid, Ptr<const Packet> p)
{
    FlowRec& f = g_engine->flows[fid];
    f.txPk++;
    f.txB += p->GetSize();
}

void Engine::UdpRxCb(int fid, Ptr<const Packet> p)
{
    FlowRec& f = g_engine->flows[fid];
    f.rxPk++;
    f.rxB += p->GetSize();
    f.Bin(p->GetSize(), g_engine->binS);
    SeqTsHeader st;
    p->PeekHeader(st);
    int64_t seq = st.GetSeq();
    if (seq < f.maxSeq)
    {
        f.reorder++;
        g_engine->Event(fid, 2);
    }
    else
    {
        f.maxSeq = seq;
    }
}

void Engine::PingTxCb(int fid, uint16_t, Ptr<Packet> p)
{
    FlowRec& f = g_engine->flows[fid];
    f.txPk++;
    f.txB += p->GetSize();
}

void Engine::PingRttCb(int fid, uint16_t seq, Time rtt)
{
    FlowRec& f = g_engine->flows[fid];
    f.rxPk++;
    double now = Simulator::Now().GetSeconds();
    g_engine->rttFlow.push_back(fid);
    g_engine->rttT.push_back(now - rtt.GetSeconds());
    g_engine->rttV.push_back(rtt.GetSeconds() * 1e3);
    if ((int64_t)seq < f.maxSeq)
    {
        f.reorder++;
        g_engine->Event(fid, 2);
    }
    else
    {
        f.maxSeq = seq;
    }
}

void Engine::LocalDeliverCb(const Ipv4Header& ip, Ptr<const Packet> p, uint32_t)
{
    if (ip.GetProtocol() != 6)
    {
        return;
    }
    TcpHeader h;
    p->PeekHeader(h);
    int fid = (int)h.GetDestinationPort() - (int)g_engine->basePort;
    if (fid < 0 || fid >= (int)g_engine->flows.size() || g_engine->flows[fid].kind != 0)
    {
        return;
    }
    uint32_t payload = p->GetSize() - h.GetSerializedSize();
    if (payload == 0)
    {
        return;
    }
    FlowRec& f = g_engine->flows[fid];
    f.rxPk++;
    uint32_t seq = h.GetSequenceNumber().GetValue();
    if (f.anyRx && (int32_t)(seq - f.maxRxEnd) < 0)
    {
        if (!f.retxSeq.count(seq))
        {
            f.reorder++;
            g_engine->Event(fid, 2);
        }
    }
    else
    {
        f.maxRxEnd = seq + payload;
        f.anyRx = true;
    }
}

int Engine::FlowOf(const Ipv4Header& ip, Ptr<const Packet> l4)
{
    uint8_t proto = ip.GetProtocol();
    if (proto == 6 || proto == 17)
    {
        if (l4->GetSize() < 4)
        {
            return -1;
        }
        uint8_t buf[4];
        l4->CopyData(buf, 4);
        return FlowOfPorts(buf);
    }
    if (proto == 1)
    {
        uint32_t x = ip.GetSource().Get(), y = ip.GetDestination().Get();
        uint64_t key = ((uint64_t)std::min(x, y) << 32) | std::max(x, y);
        auto it = pingOf.find(key);
        return it == pingOf.end() ? -1 : it->second;
    }
    return -1;
}

int Engine::FlowOfPorts(const uint8_t* buf) const
{
    int sport = (buf[0] << 8) | buf[1];
    int dport = (buf[2] << 8) | buf[3];
    int n = (int)flows.size();
    if (dport >= basePort && dport < basePort + n)
    {
        return dport - basePort;
    }
    if (sport >= basePort && sport < basePort + n)
    {
        return sport - basePort;
    }
    return -1;
}

void Engine::Loss(int fid)
{
    drops++;
    if (fid >= 0)
    {
        flows[fid].lost++;
    }
    Event(fid, 0);
}

void Engine::QueueDropCb(Ptr<const Packet> p)
{
    Ptr<Packet> c = p->Copy();
    PppHeader ppp;
    c->RemoveHeader(ppp);
    Ipv4Header ip;
    c->RemoveHeader(ip);
    g_engine->queueDrops++;
    g_engine->Loss(g_engine->FlowOf(ip, c));
}

// A packet dropped by the traffic-control layer, without its IPv4 header: TCP and UDP are
// known by their ports; an ICMP echo goes to the run's ping flow when there is one only.
void Engine::TcDropCb(Ptr<const Packet> p)
{
    Engine* e = g_engine;
    e->queueDrops++;
    int fid = -1;
    uint8_t first = 0;
    if (p->GetSize() >= 20)
    {
        p->CopyData(&first, 1);
    }
    if ((first >> 4) == 4)
    {
        Ptr<Packet> c = p->Copy();
        Ipv4Header ip;
        c->RemoveHeader(ip);
        fid = e->FlowOf(ip, c);
    }
    else if (p->GetSize() >= 4)
    {
        uint8_t buf[4];
        p->CopyData(buf, 4);
        fid = e->FlowOfPorts(buf);
        if (fid < 0 && (buf[0] == 0 || buf[0] == 8) && buf[1] == 0 && e->pingOf.size() == 1)
        {
            fid = e->pingOf.begin()->second;
        }
    }
    e->Loss(fid);
}

void Engine::IpDropCb(const Ipv4Header& ip, Ptr<const Packet> p, Ipv4L3Protocol::DropReason,
                      Ptr<Ipv4>, uint32_t)
{
    g_engine->routeDrops++;
    g_engine->Loss(g_engine->FlowOf(ip, p));
}

void Engine::IpTxCb(Ptr<const Packet>, Ptr<Ipv4>, uint32_t)
{
    g_engine->hopTx++;
}

void Engine::IpSendCb(const Ipv4Header&, Ptr<const Packet>, uint32_t)
{
    g_engine->originated++;
}

void Engine::Event(int fid, int kind)
{
    evFlow.push_back(fid);
    evT.push_back(Simulator::Now().GetSeconds());
    evKind.push_back(kind);
}

// --- running and reading out ----------------------------------------------------------
void Engine::RunUntil(double t)
{
    Time stop = Seconds(t) - Simulator::Now();
    if (stop.IsStrictlyPositive())
    {
        Simulator::Stop(stop);
        Simulator::Run();
    }
}

double Engine::Now() const
{
    return Simulator::Now().GetSeconds();
}

uint64_t Engine::EventCount() const
{
    return Simulator::GetEventCount();
}

int64_t Engine::NBins() const
{
    return flows.empty() ? 0 : (int64_t)flows[0].bins.size();
}

// per flow: tx_packets, rx_packets, lost, tx_bytes, rx_bytes, retransmits, reorders
void Engine::FlowCounters(int64_t* out) const
{
    for (size_t i = 0; i < flows.size(); ++i)
    {
        const FlowRec& f = flows[i];
        int64_t v[7] = {(int64_t)f.txPk, (int64_t)f.rxPk, (int64_t)f.lost, (int64_t)f.txB,
                        (int64_t)f.rxB, (int64_t)f.retx, (int64_t)f.reorder};
        std::memcpy(out + 7 * i, v, sizeof(v));
    }
}

void Engine::FlowBins(int fid, double* out) const
{
    CopyOut(flows[fid].bins, out);
}

int64_t Engine::FlowNBins(int fid) const
{
    return (int64_t)flows[fid].bins.size();
}

int64_t Engine::NEvents() const
{
    return (int64_t)evT.size();
}
void Engine::Events(int32_t* fid, double* t, int32_t* kind) const
{
    CopyOut(evFlow, fid);
    CopyOut(evT, t);
    CopyOut(evKind, kind);
}

int64_t Engine::NRtt() const
{
    return (int64_t)rttT.size();
}
void Engine::Rtt(int32_t* fid, double* t, double* v) const
{
    CopyOut(rttFlow, fid);
    CopyOut(rttT, t);
    CopyOut(rttV, v);
}

int64_t Engine::NCwnd() const
{
    return (int64_t)cwT.size();
}
void Engine::Cwnd(int32_t* fid, double* t, int64_t* v) const
{
    CopyOut(cwFlow, fid);
    CopyOut(cwT, t);
    CopyOut(cwV, v);
}

int64_t Engine::DeviceDrops() const
{
    int64_t n = 0;
    for (int k = 0; k < L; ++k)
    {
        n += da[k]->GetQueue()->GetTotalDroppedPackets();
        n += db[k]->GetQueue()->GetTotalDroppedPackets();
    }
    return n;
}

// hop transmissions, originated packets, drops (all), queue drops, no-route drops
void Engine::Totals(int64_t* out) const
{
    out[0] = (int64_t)hopTx;
    out[1] = (int64_t)originated;
    out[2] = (int64_t)drops;
    out[3] = (int64_t)queueDrops;
    out[4] = (int64_t)routeDrops;
}

// TCP defaults: ns-3's own (as the wheel ships them, captured at the first call) or, with
// hypatia = true, the values of Hypatia's basic-sim TcpOptimizer::OptimizeUsingWorstCaseRtt
// (clock granularity 1 ns, initial cwnd 10, no Nagle, delayed ACK count 2, and timers scaled
// to a worst-case RTT). Config defaults are process-wide, so every run sets them all.
static std::vector<std::pair<std::string, std::string>> g_tcpOrig;

void TcpProfile(bool hypatia, double worstRttS)
{
    static const char* names[] = {"ns3::TcpSocketBase::ClockGranularity",
                                  "ns3::TcpSocket::InitialCwnd",
                                  "ns3::TcpSocketBase::MinRto",
                                  "ns3::RttEstimator::InitialEstimation",
                                  "ns3::TcpSocket::ConnTimeout",
                                  "ns3::TcpSocket::DelAckTimeout",
                                  "ns3::TcpSocket::PersistTimeout",
                                  "ns3::TcpSocketBase::MaxSegLifetime",
                                  "ns3::TcpSocket::TcpNoDelay",
                                  "ns3::TcpSocket::DelAckCount"};
    if (g_tcpOrig.empty())
    {
        for (const char* full : names)
        {
            std::string n(full);
            size_t cut = n.rfind("::");
            TypeId::AttributeInformation info;
            TypeId::LookupByName(n.substr(0, cut)).LookupAttributeByName(n.substr(cut + 2), &info);
            g_tcpOrig.emplace_back(n, info.initialValue->SerializeToString(info.checker));
        }
    }
    for (auto& kv : g_tcpOrig)
    {
        Config::SetDefault(kv.first, StringValue(kv.second));
    }
    if (!hypatia)
    {
        return;
    }
    Time w = Seconds(worstRttS);
    Config::SetDefault("ns3::TcpSocketBase::ClockGranularity", TimeValue(NanoSeconds(1)));
    Config::SetDefault("ns3::TcpSocket::InitialCwnd", UintegerValue(10));
    Config::SetDefault("ns3::TcpSocketBase::MinRto", TimeValue(w * 1.5));
    Config::SetDefault("ns3::RttEstimator::InitialEstimation", TimeValue(w * 2));
    Config::SetDefault("ns3::TcpSocket::ConnTimeout", TimeValue(w * 2));
    Config::SetDefault("ns3::TcpSocket::DelAckTimeout", TimeValue(w * 0.2));
    Config::SetDefault("ns3::TcpSocket::PersistTimeout", TimeValue(w * 4));
    Config::SetDefault("ns3::TcpSocketBase::MaxSegLifetime", DoubleValue(5 * worstRttS));
    Config::SetDefault("ns3::TcpSocket::TcpNoDelay", BooleanValue(true));
    Config::SetDefault("ns3::TcpSocket::DelAckCount", UintegerValue(2));
}

Engine* NewEngine()
{
    g_engine = new Engine();
    return g_engine;
}

void DestroyEngine()
{
    Simulator::Destroy();
    delete g_engine;
    g_engine = nullptr;
}

} // namespace skymesh_pk
