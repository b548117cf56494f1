import{a as e,i as t,r as n,t as r}from"./client-Cy_VPST1.js";var i=class extends String{__apiType;value;__meta__;constructor(e,t){super(e),this.value=e,this.__meta__=t}toString(){return this.value}};new i(`
    mutation AddTokenUsage($sessionId: ID!, $promptTokens: Int!, $completionTokens: Int!) {
  addTokenUsage(
    sessionId: $sessionId
    promptTokens: $promptTokens
    completionTokens: $completionTokens
  ) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
  }
}
    `),new i(`
    mutation AppendMessage($sessionId: ID!, $message: MessageInput!) {
  appendMessage(sessionId: $sessionId, message: $message) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
  }
}
    `),new i(`
    mutation AppendMessageContent($sessionId: ID!, $messageId: ID!, $text: String!, $done: Boolean! = false, $deadline: DateTime) {
  appendMessageContent(
    sessionId: $sessionId
    messageId: $messageId
    text: $text
    done: $done
    deadline: $deadline
  ) {
    id
    sequence
    revision
    status
    deadline
    updatedAt
  }
}
    `),new i(`
    mutation AppendMessages($sessionId: ID!, $messages: [MessageInput!]!) {
  appendMessages(sessionId: $sessionId, messages: $messages) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
  }
}
    `);var a=new i(`
    query ChatList($limit: Int! = 50) {
  sessions(limit: $limit) {
    id
    title
    updatedAt
    revision
    messages(first: 5) {
      sequence
      role
      content
    }
  }
}
    `),o=new i(`
    query ChatPage($id: ID!, $last: Int! = 50, $beforeSequence: Int) {
  session(id: $id) {
    id
    title
    revision
    messageCount
    updatedAt
    opening: messages(first: 5) {
      sequence
      role
      content
    }
    messages(last: $last, beforeSequence: $beforeSequence) {
      id
      sessionId
      sequence
      role
      content
      name
      toolCallId
      refusal
      toolCalls
      functionCall
      createdAt
      updatedAt
      revision
      status
      deadline
      failureReason
    }
  }
}
    `),s=new i(`
    mutation CreateSession($input: CreateSessionInput) {
  createSession(input: $input) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
  }
}
    `);new i(`
    mutation DeleteSession($id: ID!) {
  deleteSession(id: $id)
}
    `),new i(`
    mutation FailMessage($sessionId: ID!, $messageId: ID!, $reason: String!) {
  failMessage(sessionId: $sessionId, messageId: $messageId, reason: $reason) {
    id
    sequence
    revision
    status
    failureReason
  }
}
    `),new i(`
    query GetSession($id: ID!) {
  session(id: $id) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
    messages {
      id
      sessionId
      sequence
      role
      content
      name
      toolCallId
      refusal
      toolCalls
      functionCall
      createdAt
      updatedAt
      revision
    }
  }
}
    `),new i(`
    query ListSessions($limit: Int! = 50, $offset: Int! = 0) {
  sessionCount
  sessions(limit: $limit, offset: $offset) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
  }
}
    `);var c=new i(`
    mutation SendMessage($sessionId: ID!, $message: MessageInput!) {
  appendMessage(sessionId: $sessionId, message: $message) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
    status
    deadline
    failureReason
  }
}
    `),l=new i(`
    subscription SessionEvents($sessionId: ID!, $afterRevision: Int, $afterSequence: Int) {
  sessionEvents(
    sessionId: $sessionId
    afterRevision: $afterRevision
    afterSequence: $afterSequence
  ) {
    kind
    sessionId
    revision
    sequence
    message {
      id
      sessionId
      sequence
      role
      content
      name
      toolCallId
      refusal
      toolCalls
      functionCall
      createdAt
      updatedAt
      revision
      status
      deadline
      failureReason
    }
    appended {
      messageId
      offset
      text
      status
      deadline
      updatedAt
    }
    session {
      id
      userId
      title
      createdAt
      updatedAt
      credentials
      successfulAgentRuns
      successfulAgentSchedules
      totalPromptTokens
      totalCompletionTokens
      messageCount
      revision
    }
  }
}
    `),u=new i(`
    query SessionMessages($id: ID!, $afterSequence: Int, $beforeSequence: Int, $first: Int, $last: Int) {
  session(id: $id) {
    id
    revision
    messageCount
    messages(
      afterSequence: $afterSequence
      beforeSequence: $beforeSequence
      first: $first
      last: $last
    ) {
      id
      sessionId
      sequence
      role
      content
      name
      toolCallId
      refusal
      toolCalls
      functionCall
      createdAt
      updatedAt
      revision
      status
      deadline
      failureReason
    }
  }
}
    `);new i(`
    subscription ToolMessageUpdated($sessionId: ID!, $afterRevision: Int, $afterSequence: Int) {
  toolMessageUpdated(
    sessionId: $sessionId
    afterRevision: $afterRevision
    afterSequence: $afterSequence
  ) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
  }
}
    `);var d=new i(`
    mutation UpdateSession($id: ID!, $input: UpdateSessionInput!) {
  updateSession(id: $id, input: $input) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
  }
}
    `);new i(`
    mutation UpdateToolResult($sessionId: ID!, $toolCallId: String!, $content: String!) {
  updateToolResult(
    sessionId: $sessionId
    toolCallId: $toolCallId
    content: $content
  ) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
  }
}
    `);function f(e){if(e.status===`PENDING`)return`pending`;if(e.status===`STREAMING`)return`streaming`;if(e.status===`FAILED`)return`failed`;let t=e.content===null||e.content===``||e.content===`pending`;return e.role===`TOOL`&&t?`pending`:`done`}function p(e,t){let n=t.find(e=>e.role===`USER`&&e.content?.trim());return e?.trim()||n?.content?.trim()||`New chat`}var m=class{messages=new Map;seen=new Set;from=0;cursor={revision:0,sequence:null};title=null;updatedAt=``;revision=-1;firstUser;deleted=!1;received=0;duplicates=0;stale=new Map;mismatches=0;constructor(e){this.setFields(e),e.opening.forEach(e=>this.noteUser(e)),e.messages.forEach(e=>this.merge(e)),this.from=e.messages[0]?.sequence??0,this.cursor={revision:e.revision,sequence:null}}addOlder(e){e.forEach(e=>this.merge(e)),this.from=Math.min(this.from,e[0]?.sequence??0)}apply(e){let t=`${e.kind}:${e.sequence??``}@${e.revision}`;this.received+=1,this.seen.has(t)&&(this.duplicates+=1),this.seen.add(t),e.message&&this.merge(e.message),e.appended&&e.sequence!==null&&e.sequence!==void 0&&this.append(e.sequence,e.revision,e.appended),e.session&&this.setFields(e.session),e.kind===`DELETED`&&(this.deleted=!0),this.cursor={revision:e.revision,sequence:e.sequence??null}}merge(e){let t=this.messages.get(e.sequence);t&&t.revision>=e.revision||(this.messages.set(e.sequence,e),this.noteUser(e),(this.stale.get(e.sequence)??1/0)<=e.revision&&this.stale.delete(e.sequence))}append(e,t,n){let r=this.messages.get(e);if(r&&r.revision>=t||!r&&e<this.from)return;if(!r||(r.content??``).length!==n.offset){this.mismatches+=1,this.stale.set(e,Math.max(t,this.stale.get(e)??0));return}let i=(r.content??``)+n.text,{status:a,deadline:o,updatedAt:s}=n;this.messages.set(e,{...r,content:i,status:a,deadline:o,updatedAt:s,revision:t})}noteUser(e){e.role===`USER`&&e.content?.trim()&&(!this.firstUser||e.sequence<this.firstUser.sequence)&&(this.firstUser=e)}setFields(e){e.revision<this.revision||(this.revision=e.revision,this.title=e.title??null,this.updatedAt=e.updatedAt)}name(){return p(this.title,this.firstUser?[this.firstUser]:[])}shown(){return[...this.messages.values()].filter(e=>e.sequence>=this.from).sort((e,t)=>e.sequence-t.sequence)}};function h(e,t={},...n){let r=document.createElement(e);for(let[e,n]of Object.entries(t))n!==void 0&&n!==!1&&r.setAttribute(e,n===!0?``:String(n));for(let e of n)e&&r.append(e);return r}function g(e){return Array.isArray(e.toolCalls)?e.toolCalls:[]}var _={pending:`running`,streaming:`writing`,failed:`failed`,done:`done`};function v(e,t=Date.now()){let n=Math.ceil((Date.parse(e)-t)/1e3);if(n<=0)return`timing out…`;if(n<60)return`times out in ${n} s`;if(n<3600)return`times out in ${Math.round(n/60)} min`;let r=new Date(e),i=r.toDateString()===new Date(t).toDateString(),a=r.toLocaleTimeString([],{hour:`2-digit`,minute:`2-digit`});return`times out at ${i?a:`${r.toLocaleDateString()} ${a}`}`}function y(e,t=Date.now()){let n=e.querySelectorAll(`.deadline`);for(let e of n){let n=v(e.dataset.deadline,t);e.textContent!==n&&(e.textContent=n)}return n.length}function b(e,t){let n=t===`pending`||t===`streaming`?e.deadline:null,r=n?new Date(n).toLocaleString():void 0;return[h(`span`,{class:`badge ${t}`},_[t]),n&&h(`span`,{class:`deadline`,"data-deadline":n,title:r},v(n))]}function x(e){return h(`p`,{class:`failure-reason`},e.failureReason??`It failed.`)}function S(e,t){let[n,r]=b(e,t),i=t===`pending`?`Waiting for the result.`:e.content,a=t===`failed`?x(e):h(`div`,{class:`tool-result`},i);return h(`div`,{class:`tool ${t}`,"data-tool-call-id":e.toolCallId??void 0,"data-state":t},n,h(`span`,{class:`tool-id`},e.toolCallId??``),r,a)}function C(e){let t=g(e),n=f(e),r=e.role===`TOOL`;return h(`li`,{class:`message role-${e.role.toLowerCase()}`,"data-id":e.id,"data-sequence":e.sequence,"data-revision":e.revision,"data-role":e.role,"data-state":n},h(`div`,{class:`role`},e.role.toLowerCase(),...!r&&n!==`done`?b(e,n):[]),r?S(e,n):h(`div`,{class:`content`},e.content??e.refusal??``),!r&&n===`failed`&&x(e),...t.map(e=>h(`div`,{class:`call`},`calls `,h(`code`,{},`${e.function?.name??`?`}(${e.function?.arguments??``})`),` as ${e.id??`?`}`)))}var w=(e,t)=>`#${new URLSearchParams({session:e,token:t})}`,T=class{token;current;element=h(`ul`,{class:`chats`,"aria-label":`Your chats`});entries=new Map;deleted=new Set;constructor(e,t){this.token=e,this.current=t}async refresh(){let t=(await e(a,{limit:50},this.token)).sessions.filter(e=>!this.deleted.has(e.id)).map(e=>({id:e.id,name:p(e.title,e.messages),updatedAt:e.updatedAt,revision:e.revision})),n=this.current===null?void 0:this.entries.get(this.current);this.entries=new Map(t.map(e=>[e.id,e])),n&&this.update(n),this.render()}update(e){let t=this.entries.get(e.id);t&&t.revision>e.revision||(this.entries.set(e.id,e),this.render())}remove(e){this.deleted.add(e),this.entries.delete(e),this.render()}render(){let e=[...this.entries.values()].sort((e,t)=>t.updatedAt.localeCompare(e.updatedAt));this.element.replaceChildren(...e.map(e=>h(`li`,{},h(`a`,{href:w(e.id,this.token),"data-session-id":e.id,"aria-current":e.id===this.current?`page`:void 0,title:e.name},e.name))))}},E=new Set([4400,4401,4403,4406,4409,4500]),D=15e3,O=5e3,k=1e4;function A(e){return typeof e==`object`&&e&&`code`in e?Number(e.code):void 0}function j(e){return Array.isArray(e)&&e.some(e=>e.extensions?.code===`NOT_FOUND`)}function M(e){if(Array.isArray(e))return e.map(e=>e.message??String(e)).join(`; `);let t=A(e);if(t!==void 0){let n=e.reason;return`connection closed (${t}${n?`: ${n}`:``})`}return e instanceof Error?e.message:String(e)}function N(e){let n=!1,i,a=0,o,s=()=>{if(o=void 0,n||i)return;let s=e.resumeAt();if(!navigator.onLine){e.onStatus(`offline`,`waiting for the network`,s);return}e.onStatus(a?`reconnecting`:`connecting`,``,s);let u,d=r({url:t(),connectionParams:{Authorization:`Bearer ${e.token}`},lazy:!0,retryAttempts:0,keepAlive:D,on:{connected:()=>{a=0,e.onStatus(`live`,``,s),e.onConnected()},ping:e=>{e||(u=setTimeout(()=>d.terminate(),O))},pong:e=>{e&&clearTimeout(u)},closed:()=>clearTimeout(u)}});i=d;let f=()=>{i===d&&(i=void 0),d.dispose()};d.subscribe({query:l.toString(),variables:{sessionId:e.sessionId,afterRevision:s.revision,...s.sequence===null?{}:{afterSequence:s.sequence}}},{next:t=>{t.data&&e.onEvent(t.data.sessionEvents)},error:t=>{if(f(),j(t)){n=!0,e.onStatus(`deleted`,M(t),s);return}let r=A(t);Array.isArray(t)||r!==void 0&&E.has(r)?e.onStatus(`failed`,M(t),s):c(M(t))},complete:()=>{f(),n||e.onStatus(`deleted`,``,e.resumeAt()),n=!0}})},c=t=>{if(n||o)return;let r=Math.min(500*2**a,k)*(.5+Math.random()/2);a+=1,navigator.onLine?e.onStatus(`reconnecting`,t,e.resumeAt()):e.onStatus(`offline`,`waiting for the network`,e.resumeAt()),o=setTimeout(s,r)},u=()=>i?.terminate(),d=()=>{clearTimeout(o),o=void 0,a=0,s()};return window.addEventListener(`offline`,u),window.addEventListener(`online`,d),s(),()=>{n=!0,clearTimeout(o),window.removeEventListener(`offline`,u),window.removeEventListener(`online`,d),i&&i.dispose()}}var P=50,F={connecting:`Connecting…`,live:`Live`,reconnecting:`Reconnecting…`,offline:`Offline`,deleted:`Deleted`,failed:`Disconnected`};function I(){let e=new URLSearchParams(location.hash.slice(1));return{session:e.get(`session`),token:e.get(`token`)}}function L(e){return e instanceof n&&e.code?`${e.code}: ${e.message}`:String(e instanceof Error?e.message:e)}function R(e,t){let n=h(`input`,{name:`token`,placeholder:`Bearer token (JWT)`,required:!0,autocomplete:`off`}),r=h(`form`,{class:`start`},h(`h1`,{},`chatstore`),h(`p`,{},`Paste a token (dev mode prints one at start) to see your chats.`),n,h(`button`,{type:`submit`},`Open`),h(`p`,{class:`problem`},t));r.addEventListener(`submit`,e=>{e.preventDefault(),location.hash=new URLSearchParams({token:n.value.trim()}).toString()}),e.replaceChildren(r)}function z(t,n,r){let i=new T(n,r),a=h(`p`,{class:`problem`}),o=h(`button`,{type:`button`,class:`new-chat`},`New chat`),c=h(`section`,{class:`chat`});t.replaceChildren(h(`nav`,{class:`sidebar`},o,i.element,a),c);let l=()=>{i.refresh().catch(e=>{a.textContent=L(e)})};o.addEventListener(`click`,()=>{e(s,{},n).then(e=>{location.hash=w(e.createSession.id,n)}).catch(e=>{a.textContent=L(e)})}),document.addEventListener(`visibilitychange`,()=>{document.visibilityState===`visible`&&l()}),l(),r?B(c,r,n,i,l):c.replaceChildren(h(`p`,{class:`empty`},`Pick a chat, or start a new one.`))}async function B(t,n,r,i,a){let s=h(`h1`,{id:`title`},`Loading…`),l=h(`button`,{type:`button`,class:`rename`,title:`Rename this chat`},`Rename`),f=h(`p`,{id:`status`,"data-state":`connecting`},F.connecting),p=h(`header`,{},s,l,f),g=h(`button`,{class:`older`,type:`button`,hidden:!0},`Load earlier messages`),_=h(`ol`,{class:`messages`}),v=h(`input`,{name:`content`,placeholder:`Message`,autocomplete:`off`}),b=h(`button`,{type:`submit`},`Send`),x=h(`form`,{class:`composer`},v,b),S=h(`p`,{class:`problem`});t.replaceChildren(p,g,_,x,S);let w=e=>{S.textContent=L(e)},T;try{T=(await e(o,{id:n,last:P},r)).session}catch(e){t.replaceChildren(h(`p`,{class:`problem`},L(e)));return}if(!T){t.replaceChildren(h(`p`,{class:`problem`},`This chat does not exist (or is not yours).`));return}let E=new m(T),D,O=()=>{y(_)===0&&(clearInterval(D),D=void 0)},k=()=>{let e=innerHeight+scrollY>=document.body.scrollHeight-40;s.textContent=E.name(),s.title=E.name(),_.replaceChildren(...E.shown().map(C)),g.hidden=E.from<=0,v.disabled=b.disabled=l.hidden=E.deleted,!D&&_.querySelector(`.deadline`)&&(D=setInterval(O,1e3)),f.dataset.received=String(E.received),f.dataset.duplicates=String(E.duplicates),f.dataset.mismatches=String(E.mismatches),E.deleted?i.remove(n):i.update({id:n,name:E.name(),updatedAt:E.updatedAt,revision:E.revision}),e&&scrollTo(0,document.body.scrollHeight)},A=(e,t,n)=>{f.dataset.state=e,f.dataset.afterRevision=String(n.revision),f.dataset.afterSequence=String(n.sequence??``),f.textContent=F[e],f.title=t,e===`deleted`&&(S.textContent=`This chat was deleted.`),e===`failed`&&(S.textContent=`Updates stopped (${t}): reload the page, with a fresh token if yours expired.`)};k();let j=!1,M=async()=>{if(!j){j=!0;try{for(;E.stale.size;){let[t,i]=E.stale.entries().next().value,a={id:n,beforeSequence:t+1,last:1};((await e(u,a,r)).session?.messages)?.forEach(e=>E.merge(e)),E.stale.get(t)===i&&E.stale.delete(t),k()}}catch(e){w(e)}finally{j=!1}}};g.addEventListener(`click`,()=>{let t={id:n,beforeSequence:E.from,last:P};e(u,t,r).then(e=>{E.addOlder(e.session?.messages??[]),k()}).catch(w)}),x.addEventListener(`submit`,t=>{t.preventDefault();let i=v.value.trim();i&&e(c,{sessionId:n,message:{role:`USER`,content:i}},r).then(e=>{v.value=``,E.merge(e.appendMessage),k()}).catch(w)}),l.addEventListener(`click`,()=>{let t=h(`input`,{name:`title`,value:E.title??E.name(),"aria-label":`Title`}),i=h(`button`,{type:`button`},`Cancel`),a=h(`form`,{class:`rename-form`},t,h(`button`,{type:`submit`},`Save`),i),o=()=>a.replaceWith(s,l);i.addEventListener(`click`,o),a.addEventListener(`submit`,i=>{i.preventDefault();let a={title:t.value.trim()||null};e(d,{id:n,input:a},r).then(e=>{E.setFields(e.updateSession),o(),k()}).catch(w)}),t.addEventListener(`keydown`,e=>{e.key===`Escape`&&o()}),l.remove(),s.replaceWith(a),t.select()});let I=0;N({sessionId:n,token:r,resumeAt:()=>E.cursor,onEvent:e=>{E.apply(e),k(),E.stale.size&&M()},onStatus:A,onConnected:()=>{I++>0&&a(),E.stale.size&&M()}})}function V(){let e=document.getElementById(`app`),{session:t,token:n}=I();n?z(e,n,t):R(e),window.addEventListener(`hashchange`,()=>location.reload())}V();