import{a as e,i as t,o as n,r,t as i}from"./client-B8gS0AVt.js";var a=class extends String{__apiType;value;__meta__;constructor(e,t){super(e),this.value=e,this.__meta__=t}toString(){return this.value}};new a(`
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
    `,{hash:`sha256:70e46b9c9c6283ec7d19eddc414be2f84f1e1d263134bc6cffb2a8992c65f143`}),new a(`
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
    `,{hash:`sha256:84b4e8915d5c8bae49eb75ca14aae358d4ddee1ac55d81b7fe798e3dff063150`}),new a(`
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
    `,{hash:`sha256:53843adfeb8b9f57195d3e2d24797dfc41c7300c8e804d45f3f86ca15d00b3a6`}),new a(`
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
    `,{hash:`sha256:7bbea48e1bb83aa0585f07cc3d4f9fe6dd2a5f5d32a424599ea6f2a20b971502`});var o=new a(`
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
    `,{hash:`sha256:e7560f8a709cfcf308f374e2cd0c5661334559c67d339e47a43f1d973ff5db4c`}),s=new a(`
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
    `,{hash:`sha256:ec30adb1a04dd33c90a482be3dfaae1e652b4398b0622d998b21d8b28bbc3aab`}),c=new a(`
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
    `,{hash:`sha256:3f986aa3e6e679cc7828ddfb873cc228894d4b906c9a997a95773d8c5e57abb1`});new a(`
    mutation DeleteSession($id: ID!) {
  deleteSession(id: $id)
}
    `,{hash:`sha256:995ea5a75a33d08b59c444453d8e89f921d6d10d707e90583cb62e33a682bed1`}),new a(`
    mutation FailMessage($sessionId: ID!, $messageId: ID!, $reason: String!) {
  failMessage(sessionId: $sessionId, messageId: $messageId, reason: $reason) {
    id
    sequence
    revision
    status
    failureReason
  }
}
    `,{hash:`sha256:a16e6ee106e5be2db5b43d372fe49d4e2b22ac650c9f8f3b1f2f2e50452f846f`}),new a(`
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
    `,{hash:`sha256:264a7ef88555d35b43abf60f53be09abad1116f165d7e64a23ec418e4d990500`}),new a(`
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
    `,{hash:`sha256:bf77a55d80e826fb425ab1cf0ccc85a35987498fde13df455cf67a6b695eb8de`});var l=new a(`
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
    `,{hash:`sha256:a4001574a191d600daf79f81c7e68e398636973e1c0fb50cf0f889d9fafcd1f0`}),u=new a(`
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
    `,{hash:`sha256:5519e80fd22a3114828a083eadc721f6d4bbf6af6d5838a424453d4ec1ae2929`}),d=new a(`
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
    `,{hash:`sha256:8ccad21fec094cdbc5a59c3490ed898c0268a3d75c61dd45ca1697194fb8f4f7`});new a(`
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
    `,{hash:`sha256:13c4451dc2d2bf8de5585216b733fbe708ab7ed392f8eb6055af0bcd5f0d1373`});var f=new a(`
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
    `,{hash:`sha256:8c096a1fa2910b6d5a4769852ccb55fa7531b95343cd7ee993ecd0bb56daa327`});new a(`
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
    `,{hash:`sha256:5f2b9e23ac93b84ee61bb37d9c4faa24244e8f6e2e97b199bb19cfd70a1e814b`});function p(e){if(e.status===`PENDING`)return`pending`;if(e.status===`STREAMING`)return`streaming`;if(e.status===`FAILED`)return`failed`;let t=e.content===null||e.content===``||e.content===`pending`;return e.role===`TOOL`&&t?`pending`:`done`}function m(e,t){let n=t.find(e=>e.role===`USER`&&e.content?.trim());return e?.trim()||n?.content?.trim()||`New chat`}var h=class{messages=new Map;seen=new Set;from=0;cursor={revision:0,sequence:null};title=null;updatedAt=``;revision=-1;firstUser;deleted=!1;received=0;duplicates=0;stale=new Map;mismatches=0;constructor(e){this.setFields(e),e.opening.forEach(e=>this.noteUser(e)),e.messages.forEach(e=>this.merge(e)),this.from=e.messages[0]?.sequence??0,this.cursor={revision:e.revision,sequence:null}}addOlder(e){e.forEach(e=>this.merge(e)),this.from=Math.min(this.from,e[0]?.sequence??0)}apply(e){let t=`${e.kind}:${e.sequence??``}@${e.revision}`;this.received+=1,this.seen.has(t)&&(this.duplicates+=1),this.seen.add(t),e.message&&this.merge(e.message),e.appended&&e.sequence!==null&&e.sequence!==void 0&&this.append(e.sequence,e.revision,e.appended),e.session&&this.setFields(e.session),e.kind===`DELETED`&&(this.deleted=!0),this.cursor={revision:e.revision,sequence:e.sequence??null}}merge(e){let t=this.messages.get(e.sequence);t&&t.revision>=e.revision||(this.messages.set(e.sequence,e),this.noteUser(e),(this.stale.get(e.sequence)??1/0)<=e.revision&&this.stale.delete(e.sequence))}append(e,t,n){let r=this.messages.get(e);if(r&&r.revision>=t||!r&&e<this.from)return;if(!r||(r.content??``).length!==n.offset){this.mismatches+=1,this.stale.set(e,Math.max(t,this.stale.get(e)??0));return}let i=(r.content??``)+n.text,{status:a,deadline:o,updatedAt:s}=n;this.messages.set(e,{...r,content:i,status:a,deadline:o,updatedAt:s,revision:t})}noteUser(e){e.role===`USER`&&e.content?.trim()&&(!this.firstUser||e.sequence<this.firstUser.sequence)&&(this.firstUser=e)}setFields(e){e.revision<this.revision||(this.revision=e.revision,this.title=e.title??null,this.updatedAt=e.updatedAt)}name(){return m(this.title,this.firstUser?[this.firstUser]:[])}shown(){return[...this.messages.values()].filter(e=>e.sequence>=this.from).sort((e,t)=>e.sequence-t.sequence)}};function g(e,t={},...n){let r=document.createElement(e);for(let[e,n]of Object.entries(t))n!==void 0&&n!==!1&&r.setAttribute(e,n===!0?``:String(n));for(let e of n)e&&r.append(e);return r}function _(e){return Array.isArray(e.toolCalls)?e.toolCalls:[]}var v={pending:`running`,streaming:`writing`,failed:`failed`,done:`done`};function y(e,t=Date.now()){let n=Math.ceil((Date.parse(e)-t)/1e3);if(n<=0)return`timing out…`;if(n<60)return`times out in ${n} s`;if(n<3600)return`times out in ${Math.round(n/60)} min`;let r=new Date(e),i=r.toDateString()===new Date(t).toDateString(),a=r.toLocaleTimeString([],{hour:`2-digit`,minute:`2-digit`});return`times out at ${i?a:`${r.toLocaleDateString()} ${a}`}`}function b(e,t=Date.now()){let n=e.querySelectorAll(`.deadline`);for(let e of n){let n=y(e.dataset.deadline,t);e.textContent!==n&&(e.textContent=n)}return n.length}function x(e,t){let n=t===`pending`||t===`streaming`?e.deadline:null,r=n?new Date(n).toLocaleString():void 0;return[g(`span`,{class:`badge ${t}`},v[t]),n&&g(`span`,{class:`deadline`,"data-deadline":n,title:r},y(n))]}function S(e){return g(`p`,{class:`failure-reason`},e.failureReason??`It failed.`)}function C(e,t){let[n,r]=x(e,t),i=t===`pending`?`Waiting for the result.`:e.content,a=t===`failed`?S(e):g(`div`,{class:`tool-result`},i);return g(`div`,{class:`tool ${t}`,"data-tool-call-id":e.toolCallId??void 0,"data-state":t},n,g(`span`,{class:`tool-id`},e.toolCallId??``),r,a)}function w(e){let t=_(e),n=p(e),r=e.role===`TOOL`;return g(`li`,{class:`message role-${e.role.toLowerCase()}`,"data-id":e.id,"data-sequence":e.sequence,"data-revision":e.revision,"data-role":e.role,"data-state":n},g(`div`,{class:`role`},e.role.toLowerCase(),...!r&&n!==`done`?x(e,n):[]),r?C(e,n):g(`div`,{class:`content`},e.content??e.refusal??``),!r&&n===`failed`&&S(e),...t.map(e=>g(`div`,{class:`call`},`calls `,g(`code`,{},`${e.function?.name??`?`}(${e.function?.arguments??``})`),` as ${e.id??`?`}`)))}var T=(e,t)=>`#${new URLSearchParams({session:e,token:t})}`,E=class{token;current;element=g(`ul`,{class:`chats`,"aria-label":`Your chats`});entries=new Map;deleted=new Set;constructor(e,t){this.token=e,this.current=t}async refresh(){let e=(await n(o,{limit:50},this.token)).sessions.filter(e=>!this.deleted.has(e.id)).map(e=>({id:e.id,name:m(e.title,e.messages),updatedAt:e.updatedAt,revision:e.revision})),t=this.current===null?void 0:this.entries.get(this.current);this.entries=new Map(e.map(e=>[e.id,e])),t&&this.update(t),this.render()}update(e){let t=this.entries.get(e.id);t&&t.revision>e.revision||(this.entries.set(e.id,e),this.render())}remove(e){this.deleted.add(e),this.entries.delete(e),this.render()}render(){let e=[...this.entries.values()].sort((e,t)=>t.updatedAt.localeCompare(e.updatedAt));this.element.replaceChildren(...e.map(e=>g(`li`,{},g(`a`,{href:T(e.id,this.token),"data-session-id":e.id,"aria-current":e.id===this.current?`page`:void 0,title:e.name},e.name))))}},D=new Set([4400,4401,4403,4406,4409,4500]),O=15e3,k=5e3,A=1e4;function j(e){return typeof e==`object`&&e&&`code`in e?Number(e.code):void 0}function M(e,t){return Array.isArray(e)&&e.some(e=>e.extensions?.code===t)}var N=e=>M(e,`NOT_FOUND`),P=e=>M(e,`PERSISTED_QUERY_NOT_FOUND`);function F(e){if(Array.isArray(e))return e.map(e=>e.message??String(e)).join(`; `);let t=j(e);if(t!==void 0){let n=e.reason;return`connection closed (${t}${n?`: ${n}`:``})`}return e instanceof Error?e.message:String(e)}function I(n){let r=!1,a,o=0,s,c=!1,l=()=>{if(s=void 0,r||a)return;let f=n.resumeAt();if(!navigator.onLine){n.onStatus(`offline`,`waiting for the network`,f);return}n.onStatus(o?`reconnecting`:`connecting`,``,f);let p,m=i({url:e(),connectionParams:{Authorization:`Bearer ${n.token}`},lazy:!0,retryAttempts:0,keepAlive:O,on:{connected:()=>{o=0,n.onStatus(`live`,``,f),n.onConnected()},ping:e=>{e||(p=setTimeout(()=>m.terminate(),k))},pong:e=>{e&&clearTimeout(p)},closed:()=>clearTimeout(p)}});a=m;let h=()=>{a===m&&(a=void 0),m.dispose()},g={query:``,...t(u,c),variables:{sessionId:n.sessionId,afterRevision:f.revision,...f.sequence===null?{}:{afterSequence:f.sequence}}};m.subscribe(g,{next:e=>{e.data&&n.onEvent(e.data.sessionEvents)},error:e=>{if(h(),P(e)&&!c){c=!0,l();return}if(N(e)){r=!0,n.onStatus(`deleted`,F(e),f);return}let t=j(e);Array.isArray(e)||t!==void 0&&D.has(t)?n.onStatus(`failed`,F(e),f):d(F(e))},complete:()=>{h(),r||n.onStatus(`deleted`,``,n.resumeAt()),r=!0}})},d=e=>{if(r||s)return;let t=Math.min(500*2**o,A)*(.5+Math.random()/2);o+=1,navigator.onLine?n.onStatus(`reconnecting`,e,n.resumeAt()):n.onStatus(`offline`,`waiting for the network`,n.resumeAt()),s=setTimeout(l,t)},f=()=>a?.terminate(),p=()=>{clearTimeout(s),s=void 0,o=0,l()};return window.addEventListener(`offline`,f),window.addEventListener(`online`,p),l(),()=>{r=!0,clearTimeout(s),window.removeEventListener(`offline`,f),window.removeEventListener(`online`,p),a&&a.dispose()}}var L=50,R={connecting:`Connecting…`,live:`Live`,reconnecting:`Reconnecting…`,offline:`Offline`,deleted:`Deleted`,failed:`Disconnected`};function z(){let e=new URLSearchParams(location.hash.slice(1));return{session:e.get(`session`),token:e.get(`token`)}}function B(e){return e instanceof r&&e.code?`${e.code}: ${e.message}`:String(e instanceof Error?e.message:e)}function V(e,t){let n=g(`input`,{name:`token`,placeholder:`Bearer token (JWT)`,required:!0,autocomplete:`off`}),r=g(`form`,{class:`start`},g(`h1`,{},`chatstore`),g(`p`,{},`Paste a token (dev mode prints one at start) to see your chats.`),n,g(`button`,{type:`submit`},`Open`),g(`p`,{class:`problem`},t));r.addEventListener(`submit`,e=>{e.preventDefault(),location.hash=new URLSearchParams({token:n.value.trim()}).toString()}),e.replaceChildren(r)}function H(e,t,r){let i=new E(t,r),a=g(`p`,{class:`problem`}),o=g(`button`,{type:`button`,class:`new-chat`},`New chat`),s=g(`section`,{class:`chat`});e.replaceChildren(g(`nav`,{class:`sidebar`},o,i.element,a),s);let l=()=>{i.refresh().catch(e=>{a.textContent=B(e)})};o.addEventListener(`click`,()=>{n(c,{},t).then(e=>{location.hash=T(e.createSession.id,t)}).catch(e=>{a.textContent=B(e)})}),document.addEventListener(`visibilitychange`,()=>{document.visibilityState===`visible`&&l()}),l(),r?U(s,r,t,i,l):s.replaceChildren(g(`p`,{class:`empty`},`Pick a chat, or start a new one.`))}async function U(e,t,r,i,a){let o=g(`h1`,{id:`title`},`Loading…`),c=g(`button`,{type:`button`,class:`rename`,title:`Rename this chat`},`Rename`),u=g(`p`,{id:`status`,"data-state":`connecting`},R.connecting),p=g(`header`,{},o,c,u),m=g(`button`,{class:`older`,type:`button`,hidden:!0},`Load earlier messages`),_=g(`ol`,{class:`messages`}),v=g(`input`,{name:`content`,placeholder:`Message`,autocomplete:`off`}),y=g(`button`,{type:`submit`},`Send`),x=g(`form`,{class:`composer`},v,y),S=g(`p`,{class:`problem`});e.replaceChildren(p,m,_,x,S);let C=e=>{S.textContent=B(e)},T;try{T=(await n(s,{id:t,last:L},r)).session}catch(t){e.replaceChildren(g(`p`,{class:`problem`},B(t)));return}if(!T){e.replaceChildren(g(`p`,{class:`problem`},`This chat does not exist (or is not yours).`));return}let E=new h(T),D,O=()=>{b(_)===0&&(clearInterval(D),D=void 0)},k=()=>{let e=innerHeight+scrollY>=document.body.scrollHeight-40;o.textContent=E.name(),o.title=E.name(),_.replaceChildren(...E.shown().map(w)),m.hidden=E.from<=0,v.disabled=y.disabled=c.hidden=E.deleted,!D&&_.querySelector(`.deadline`)&&(D=setInterval(O,1e3)),u.dataset.received=String(E.received),u.dataset.duplicates=String(E.duplicates),u.dataset.mismatches=String(E.mismatches),E.deleted?i.remove(t):i.update({id:t,name:E.name(),updatedAt:E.updatedAt,revision:E.revision}),e&&scrollTo(0,document.body.scrollHeight)},A=(e,t,n)=>{u.dataset.state=e,u.dataset.afterRevision=String(n.revision),u.dataset.afterSequence=String(n.sequence??``),u.textContent=R[e],u.title=t,e===`deleted`&&(S.textContent=`This chat was deleted.`),e===`failed`&&(S.textContent=`Updates stopped (${t}): reload the page, with a fresh token if yours expired.`)};k();let j=!1,M=async()=>{if(!j){j=!0;try{for(;E.stale.size;){let[e,i]=E.stale.entries().next().value,a={id:t,beforeSequence:e+1,last:1};((await n(d,a,r)).session?.messages)?.forEach(e=>E.merge(e)),E.stale.get(e)===i&&E.stale.delete(e),k()}}catch(e){C(e)}finally{j=!1}}};m.addEventListener(`click`,()=>{let e={id:t,beforeSequence:E.from,last:L};n(d,e,r).then(e=>{E.addOlder(e.session?.messages??[]),k()}).catch(C)}),x.addEventListener(`submit`,e=>{e.preventDefault();let i=v.value.trim();i&&n(l,{sessionId:t,message:{role:`USER`,content:i}},r).then(e=>{v.value=``,E.merge(e.appendMessage),k()}).catch(C)}),c.addEventListener(`click`,()=>{let e=g(`input`,{name:`title`,value:E.title??E.name(),"aria-label":`Title`}),i=g(`button`,{type:`button`},`Cancel`),a=g(`form`,{class:`rename-form`},e,g(`button`,{type:`submit`},`Save`),i),s=()=>a.replaceWith(o,c);i.addEventListener(`click`,s),a.addEventListener(`submit`,i=>{i.preventDefault();let a={title:e.value.trim()||null};n(f,{id:t,input:a},r).then(e=>{E.setFields(e.updateSession),s(),k()}).catch(C)}),e.addEventListener(`keydown`,e=>{e.key===`Escape`&&s()}),c.remove(),o.replaceWith(a),e.select()});let N=0;I({sessionId:t,token:r,resumeAt:()=>E.cursor,onEvent:e=>{E.apply(e),k(),E.stale.size&&M()},onStatus:A,onConnected:()=>{N++>0&&a(),E.stale.size&&M()}})}function W(){let e=document.getElementById(`app`),{session:t,token:n}=z();n?H(e,n,t):V(e),window.addEventListener(`hashchange`,()=>location.reload())}W();